"""Files over RPC: nameko's RPC carries JSON, so a file travels as base64
text with its content type and name — packed by the service that made it,
unpacked by the gateway. One shape for every file."""
import base64


def pack(content, content_type, filename, **extra):
    return dict(extra, content_base64=base64.b64encode(content).decode("ascii"),
                content_type=content_type, filename=filename)


def unpack(document):
    return base64.b64decode(document["content_base64"])
