# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""A script a role installs on a host, loaded as the host has it: in a lib directory with the
module_utils files it imports beside it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import shutil

REPO = os.path.join(os.path.dirname(__file__), "..", "..")


def load_installed(workdir, role, script, module_utils):
    """The module of roles/ROLE/files/SCRIPT.py, copied to WORKDIR/lib with MODULE_UTILS (names)."""
    lib = os.path.join(workdir, "lib")
    os.makedirs(lib)
    shutil.copy(os.path.join(REPO, "roles", role, "files", script + ".py"), lib)
    for name in module_utils:
        shutil.copy(os.path.join(REPO, "plugins", "module_utils", name + ".py"), lib)
    spec = importlib.util.spec_from_file_location(script, os.path.join(lib, script + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
