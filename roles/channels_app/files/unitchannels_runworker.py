"""Channels' `manage.py runworker`, stopped without losing work (a worker of channels_app_workers).

Run by ROOT/bin/manage --worker for a worker whose command is [manage, runworker, CHANNEL...], in
the release's directory, with its virtualenv, environment and secrets, as the app's user. It is
Channels' own runworker command (same arguments, same application: ASGI_APPLICATION) with one
change, its worker class. Channels' worker takes messages from the layer as fast as they come and
queues them in the process; on SIGTERM it dies at once, and every message it had taken (the one
in hand and those queued behind it) is lost. This one, on SIGTERM or SIGINT:

  1. stops taking messages: a receive in progress is cancelled, which channels-redis allows
     without loss (the message stays in its backup queue and the next receive puts it back);
  2. finishes every message it had taken, one after the other as usual;
  3. lets the layer drop its copies of them (channels-redis's cleaners), then exits 0.

systemd's TimeoutStopSec (the worker's stop_timeout) bounds it: past that the worker is killed.
"""

import asyncio
import logging
import os
import signal
import sys
import time

LOG = logging.getLogger("unitchannels.runworker")


def graceful_worker_class():
    """The Worker subclass (imported late: Django must be set up first)."""
    # pylint: disable=import-outside-toplevel
    from asgiref.compatibility import guarantee_single_callable
    from channels.worker import Worker

    class HandledQueue(asyncio.Queue):
        """An application instance's input: join() returns once the consumer has handled every
        message it was given (a consumer asks for the next message only after it dispatched the
        one before)."""

        def __init__(self):
            super().__init__()
            self.in_hand = False

        async def get(self):
            if self.in_hand:
                self.in_hand = False
                self.task_done()
            message = await super().get()
            self.in_hand = True
            return message

    class GracefulWorker(Worker):
        """Channels' Worker that finishes the messages it took when told to stop."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.stopping = None

        def stop(self):
            if self.stopping is not None:
                self.stopping.set()

        def get_or_create_application_instance(self, scope_id, scope):
            # As asgiref's StatelessServer does, with a queue that knows when its work is done.
            if scope_id not in self.application_instances:
                queue = HandledQueue()
                instance = guarantee_single_callable(self.application)
                future = asyncio.ensure_future(instance(
                    scope=scope, receive=queue.get, send=lambda message: self.application_send(scope, message)))
                self.application_instances[scope_id] = {"input_queue": queue, "future": future, "scope": scope}
            self.application_instances[scope_id]["last_used"] = time.time()
            return self.application_instances[scope_id]["input_queue"]

        async def handle(self):
            self.stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stop)
            listeners = [asyncio.ensure_future(self.listener(channel)) for channel in self.channels]
            stop_requested = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait(listeners + [stop_requested], return_when=asyncio.FIRST_COMPLETED)
            for task in listeners + [stop_requested]:
                task.cancel()
            outcomes = await asyncio.gather(*listeners, return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, asyncio.CancelledError)]
            if failed:  # a listener ended on its own: the layer failed, as Channels' worker reports it
                raise failed[0]
            taken = sum(d["input_queue"].qsize() + d["input_queue"].in_hand for d in self.application_instances.values())
            LOG.warning("Stopping: taking no more messages, finishing the %d taken", taken)
            started = time.monotonic()
            for details in list(self.application_instances.values()):
                # A consumer that crashed handles nothing more: do not wait for it.
                await asyncio.wait([asyncio.ensure_future(details["input_queue"].join()), details["future"]],
                                   return_when=asyncio.FIRST_COMPLETED)
            await asyncio.gather(*list(getattr(self.channel_layer, "receive_cleaners", [])), return_exceptions=True)
            LOG.warning("Stopped: the messages taken were handled in %.1f s", time.monotonic() - started)

    return GracefulWorker


def main(argv=None):
    # As manage.py: the release (the working directory) is where the project's packages are.
    sys.path.insert(0, os.getcwd())
    import django  # pylint: disable=import-outside-toplevel

    django.setup()
    from channels.management.commands import runworker  # pylint: disable=import-outside-toplevel
    from django.core.management import execute_from_command_line  # pylint: disable=import-outside-toplevel

    runworker.Command.worker_class = graceful_worker_class()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    execute_from_command_line(["manage.py", "runworker"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
