"""Client halves of the SASL mechanisms for the protocol tests, written from the RFCs with
hashlib and hmac (Python has no SCRAM client): SCRAM-SHA-256 and -PLUS (RFC 5802, 7677),
LOGIN, PLAIN, EXTERNAL; each as an imaplib authobject (bytes in, bytes out) or stepped by hand
for POP3."""
import base64
import hashlib
import hmac
import os


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def scram_name(name):
    """RFC 5802 section 5.1: ',' and '=' in a saslname."""
    return name.replace("=", "=3D").replace(",", "=2C")


class Scram:
    """One SCRAM-SHA-256 exchange. cb: (name, data) for -PLUS ("tls-unique", bytes); flag "y"
    says the client could bind but thinks the server cannot; tamper spoils the proof."""

    def __init__(self, user, password, authzid="", cb=None, flag=None, tamper=False,
                 wrong_cb=False):
        self.user, self.password, self.tamper = user, password, tamper
        self.cb_data = cb[1] if cb else b""
        if wrong_cb:
            self.cb_data = bytes(b ^ 0xFF for b in self.cb_data) or b"\0"
        if cb:
            gs2 = f"p={cb[0]},"
        else:
            gs2 = (flag or "n") + ","
        self.gs2 = (gs2 + (f"a={scram_name(authzid)}" if authzid else "") + ",").encode()
        self.cnonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n={scram_name(user)},r={self.cnonce}"
        self.step = 0
        self.server_signature = None
        self.verified = False
        self.server_first = None

    def client_first(self):
        return self.gs2 + self.first_bare.encode()

    def initial(self):
        """The client-first message sent as an initial response (SASL-IR)."""
        self.step = 1
        return self.client_first()

    def client_final(self, server_first):
        self.server_first = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in self.server_first.split(","))
        nonce, salt, iters = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        assert nonce.startswith(self.cnonce)
        self.salt, self.iters = attrs["s"], iters
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iters)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        without_proof = f"c={b64(self.gs2 + self.cb_data)},r={nonce}"
        auth_message = f"{self.first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytearray(a ^ b for a, b in zip(client_key, signature))
        if self.tamper:
            proof[0] ^= 1
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return f"{without_proof},p={b64(bytes(proof))}".encode()

    def check_final(self, server_final):
        text = server_final.decode()
        assert text.startswith("v="), text
        self.verified = base64.b64decode(text[2:]) == self.server_signature
        assert self.verified, "the server's signature does not verify"
        return b""

    def __call__(self, challenge):
        """imaplib's authobject."""
        self.step += 1
        if self.step == 1:
            return self.client_first()
        if self.step == 2:
            return self.client_final(challenge)
        return self.check_final(challenge)


class Login:
    """LOGIN: the server asks "User Name" then "Password" (the text is not checked)."""

    def __init__(self, user, password):
        self.answers = [user.encode(), password.encode()]

    def initial(self):
        """The name sent as an initial response (SASL-IR)."""
        return self.answers.pop(0)

    def __call__(self, challenge):
        return self.answers.pop(0) if self.answers else b""


def plain(authz, authc, password):
    return f"{authz}\0{authc}\0{password}".encode()


def pop_auth(c, mech, steps, initial=None):
    """Runs POP3 AUTH on a LineClient: steps(challenge bytes) -> response bytes. Returns the
    final line (+OK / -ERR)."""
    c.send(f"AUTH {mech}" + (f" {b64(initial) if initial else '='}" if initial is not None
                             else "") + "\r\n")
    while True:
        line = c.line()
        if not line.startswith("+ ") and line != "+":
            return line
        challenge = base64.b64decode(line[2:]) if len(line) > 2 else b""
        c.send(b64(steps(challenge)) + "\r\n")


def imap_auth(c, tag, mech, steps, initial=None):
    """AUTHENTICATE on a LineClient, the same way: returns the tagged line."""
    ir = "" if initial is None else " " + (b64(initial) if initial else "=")
    c.send(f"{tag} AUTHENTICATE {mech}{ir}\r\n")
    while True:
        line = c.line()
        if line.startswith(tag + " "):
            return line
        if line.startswith("* "):
            continue
        assert line.startswith("+"), line
        challenge = base64.b64decode(line[2:]) if len(line) > 2 else b""
        c.send(b64(steps(challenge)) + "\r\n")
