"""A real SMTP server for the tests (aiosmtpd), in its own process because
aiosmtpd runs on asyncio and the tests run under eventlet.

    python tests/smtp_sink.py PORT DIR

Each accepted message is written to DIR/<n>.eml. Control files in DIR:
`hold` makes the server wait before answering DATA (it writes `holding`
meanwhile,
removed when it lets go); `refuse` makes it answer 451 instead of accepting."""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    def _path(self, name):
        return os.path.join(self.directory, name)

    async def handle_DATA(self, server, session, envelope):
        try:
            while os.path.exists(self._path("hold")):
                open(self._path("holding"), "w").close()
                await asyncio.sleep(0.05)
        finally:      # also when the sender is gone and the session is cancelled
            if os.path.exists(self._path("holding")):
                os.remove(self._path("holding"))
        if os.path.exists(self._path("refuse")):
            return "451 4.3.0 not now, try again later"
        self.count += 1
        temporary = self._path("%06d.tmp" % self.count)
        with open(temporary, "wb") as handle:
            handle.write(envelope.original_content)
        os.rename(temporary, self._path("%06d.eml" % self.count))
        return "250 OK"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    open(os.path.join(directory, "ready"), "w").close()
    try:
        while True:
            asyncio.run(asyncio.sleep(3600))
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
