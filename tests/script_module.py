"""Load a script of the project (not a package) as a module, for the tests at this level."""

import importlib.util


def load_script(path):
    """The module the Python file at path defines, named after the file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
