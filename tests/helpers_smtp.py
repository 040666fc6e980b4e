"""A loopback SMTP server's parts (aiosmtpd): a free port, an inbox keeping every envelope, the
one account it accepts."""

from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import AuthResult

PASSWORD = "s3cret-Auth-code-42"
USER = "shop@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def parsed(self, i: int = -1):
        return BytesParser(policy=policy.default).parsebytes(self.envelopes[i].content)


def check_password(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
