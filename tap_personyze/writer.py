"""The tap's Singer message writer: the SDK's msgspec writer (``singer-sdk[msgspec]``), flushing
stdout at each message other than a RECORD instead of after every record.

Records stay in stdout's buffer until it fills or the next SCHEMA/STATE message is written, and
that message flushes them and itself together: a target never sees a STATE before the records it
covers, and one write per buffer instead of one per record halves the cost of a record. Python
flushes stdout when the tap ends, normally or with an error.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class SingerWriter(MsgSpecWriter):
    def write_message(self, message: Message) -> None:
        data = self.format_message(message)
        out = sys.stdout
        binary = getattr(out, "buffer", None)
        if binary is not None:
            binary.write(data)
        else:  # a text stream without a byte buffer (stdout captured in a test)
            out.write(data.decode())
        if not isinstance(message, RecordMessage):
            out.flush()
