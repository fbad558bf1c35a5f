#!/usr/bin/env python3
"""A Confluent-compatible Schema Registry for the tests (python3 standard library only).

    registry_server.py --map schemas/registry.map --port-file FILE

Serves, on 127.0.0.1 and a port chosen by the system (printed to --port-file):
  GET  /schemas/ids/{id}            {"schema": "<schema text>"}
  POST /subjects/{subject}/versions {"schema": "..."} -> {"id": N}; the same schema
                                    text always gets the same id (a new text a new id)
  GET  /subjects                    ["subject", ...]
  GET  /subjects/{subject}/versions [1, 2, ...]
Errors are Confluent's JSON: {"error_code": 40403, "message": "Schema not found"}.
The ids of --map (the offline registry.map, "<id> <file.avsc>" lines) are preloaded,
so a schema registered with the text of one of those files gets that file's id.
Every request is logged to stderr. Stops on SIGTERM/SIGINT.
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
schemas = {}   # id -> text
ids = {}       # text -> id
subjects = {}  # subject -> [id, ...] (versions in order)


def load_map(path):
    base = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            sid, file = line.split(None, 1)
            with open(os.path.join(base, file), encoding="utf-8") as s:
                text = s.read()
            schemas[int(sid)] = text
            ids.setdefault(text, int(sid))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.send_json(status, {"error_code": code, "message": message})

    def do_GET(self):
        m = re.fullmatch(r"/schemas/ids/(-?\d+)", self.path)
        if m:
            with lock:
                text = schemas.get(int(m.group(1)))
            if text is None:
                return self.error(404, 40403, "Schema not found")
            return self.send_json(200, {"schema": text})
        if self.path == "/subjects":
            with lock:
                return self.send_json(200, sorted(subjects))
        m = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
        if m:
            with lock:
                versions = subjects.get(m.group(1))
            if versions is None:
                return self.error(404, 40401, "Subject not found")
            return self.send_json(200, list(range(1, len(versions) + 1)))
        self.error(404, 404, "HTTP 404 Not Found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        m = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
        if not m:
            return self.error(404, 404, "HTTP 404 Not Found")
        try:
            text = json.loads(body)["schema"]
            json.loads(text)
        except (ValueError, KeyError, TypeError):
            return self.error(422, 42201, "Invalid schema")
        with lock:
            sid = ids.get(text)
            if sid is None:
                sid = max(schemas, default=0) + 1
                schemas[sid] = text
                ids[text] = sid
            versions = subjects.setdefault(m.group(1), [])
            if sid not in versions:
                versions.append(sid)
        self.send_json(200, {"id": sid})

    def log_message(self, fmt, *args):
        sys.stderr.write("registry: %s\n" % (fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--map", required=True, help="registry.map to preload")
    ap.add_argument("--port-file", required=True, help="write the port here once listening")
    args = ap.parse_args()
    load_map(args.map)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
