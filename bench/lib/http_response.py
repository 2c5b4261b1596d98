"""The load clients' HTTP/1.1 response framing (idle_client.py, ka_client.py).

The bench upstream answers with Content-Length bodies only, so this is all they need.
"""


def take_response(buf):
    """(is_200, rest) for one complete response at the start of `buf`, rest being the bytes
    after it; None while the response is incomplete."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if len(body) < length:
        return None
    return head.startswith(b"HTTP/1.1 200"), body[length:]
