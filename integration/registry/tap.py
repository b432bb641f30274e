#!/usr/bin/env python3
"""Test fixture: a TCP tap. Relays connections on a free 127.0.0.1 port to TARGET (host:port)
and appends every byte the clients send to LOG, so a test can show what reached the process
behind it (a proxy), credentials included or not.

  tap.py TARGET LOG PORTFILE
"""
import signal, socket, sys, threading

target_host, target_port = sys.argv[1].rsplit(":", 1)
log, portfile = sys.argv[2], sys.argv[3]
lock = threading.Lock()


def pipe(source, sink, record):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if record:
                with lock, open(log, "ab") as f:
                    f.write(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    upstream = socket.create_connection((target_host, int(target_port)))
    threading.Thread(target=pipe, args=(client, upstream, True), daemon=True).start()
    pipe(upstream, client, False)
    client.close()
    upstream.close()


def main():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
