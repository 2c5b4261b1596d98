#!/usr/bin/python3
"""A deliberately slow HTTP/1.1 upstream: every request is answered after DELAY seconds.

Usage: slow_upstream.py PORT DELAY_MS
Keep-alive, Content-Length bodies, asyncio (one thread): with a 100 ms delay it serves hundreds
of concurrent requests at little CPU cost, so the app behind it is slow, not the machine busy.
"""
import asyncio
import sys

PORT, DELAY = int(sys.argv[1]), int(sys.argv[2]) / 1000.0
BODY = b"slow\n"
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            cl = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    cl = int(line.split(b":", 1)[1])
            if cl:
                await reader.readexactly(cl)
            await asyncio.sleep(DELAY)
            writer.write(RESP)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=4096)
    print("listening", PORT, flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
