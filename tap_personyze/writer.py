"""The tap's Singer message writer: the SDK's msgspec writer (``singer-sdk[msgspec]``).

When the tap reads with one request in flight, RECORD messages stay in stdout's buffer until it
fills or the next SCHEMA/STATE message is written, and that message flushes them and itself
together: a target never sees a STATE before the records it covers, and one write per buffer
instead of one per record makes a record about 4% cheaper (100,000 interactions at 0 ms).

With more than one in flight, each RECORD is written at once, as the SDK's writer does. The
threads fetching the next pages need the interpreter lock for a moment after each answer; a
write lets go of it, so they get it at once instead of after the switch interval. Measured on
the same run: 7% faster on interactions and 5% on users at 0 ms, the same at 50 ms.

Python flushes stdout when the tap ends, normally or with an error.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class SingerWriter(MsgSpecWriter):
    # Whether each RECORD goes out at once (the tap sets it from max_concurrency).
    records_at_once = True

    def write_message(self, message: Message) -> None:
        data = self.format_message(message)
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is not None:
            binary.write(data)
        else:  # a text stream without a byte buffer (stdout captured in a test)
            out.write(data.decode())
        if self.records_at_once or not isinstance(message, RecordMessage):
            out.flush()
