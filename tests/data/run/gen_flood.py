"""Writes the flood of tests/cli/test_run_flood.sh: for each partition P of
0..N-1, two message files, big-P.msg and near-P.msg, and prints one line per
message with what ingest_rejects must hold for it once the recorder has read it
(produced in that order, big at offset 0, near at offset 1):

  partition offset reason payload_length stored_length sha256(whole) md5(stored)

big:  3,000,030 bytes of ASCII JSON, over max.message.bytes: message_too_large,
      stored head exactly MAX bytes.
near: 900,000 bytes of JSON without trade_id (missing_field), a string of
      two-byte characters that the cut at MAX splits: the stored head ends before
      that character (MAX - 1 bytes), so payload_text stays valid UTF-8.

usage: gen_flood.py DIR PARTITIONS MAX

With --rows, writes PER valid trades of 1,000,000 bytes each (just under
max.message.bytes, a long "note") per partition instead, row-P-I.msg, and prints
"trade_id note_length" for each:

usage: gen_flood.py --rows DIR PARTITIONS PER"""
import hashlib
import sys


def head(b, cap):
    """The head the writer stores: cap bytes, moved back to a character's first
    byte when the cut splits one and the head is then text."""
    if len(b) <= cap:
        return b
    n = cap
    if b[n] & 0xC0 == 0x80:
        lead = n - 1
        while lead > 0 and n - lead < 3 and b[lead] & 0xC0 == 0x80:
            lead -= 1
        try:
            b[:lead].decode("utf-8")
            return b[:lead]
        except UnicodeDecodeError:
            pass
    return b[:n]


def rows(out, parts, per):
    for p in range(parts):
        for i in range(per):
            tid = "ROW-%d-%d" % (p, i)
            pre = (
                '{"trade_id":"%s","order_id":"ORD-1","quantity":"1","price":"2",'
                '"trade_time":"2026-11-03T10:00:00Z","note":"' % tid
            ).encode()
            msg = pre + b"n" * (1000000 - len(pre) - 2) + b'"}'
            assert len(msg) == 1000000
            with open("%s/row-%d-%d.msg" % (out, p, i), "wb") as f:
                f.write(msg)
            print(tid, len(msg) - len(pre) - 2)


def main():
    if sys.argv[1] == "--rows":
        rows(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    out, parts, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for p in range(parts):
        pre = b'{"trade_id":"FLOOD-%d","note":"' % p
        big = pre + b"x" * (3000030 - len(pre) - 2) + b'"}'
        assert len(big) == 3000030
        pre = b'{"note":"'
        tail = b"b%06d" % p
        fill = "\u00e9".encode() * ((900000 - len(pre) - len(tail) - 2) // 2)
        near = pre + fill + tail + b'"}'
        assert len(near) == 900000
        for off, (name, msg, reason) in enumerate(
            (("big", big, "message_too_large"), ("near", near, "missing_field"))
        ):
            with open("%s/%s-%d.msg" % (out, name, p), "wb") as f:
                f.write(msg)
            h = head(msg, cap)
            print(p, off, reason, len(msg), len(h), hashlib.sha256(msg).hexdigest(),
                  hashlib.md5(h).hexdigest())


main()
