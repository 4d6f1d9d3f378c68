import socket

import pytest

from app.broker import EmbeddedBroker, port_in_use
from schemas.errors import BrokerError


def test_a_taken_port_is_a_clear_error_not_a_hang():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
        with pytest.raises(
            BrokerError, match=rf"port 127\.0\.0\.1:{port} is already in use.*--kafka-port"
        ):
            EmbeddedBroker(port).start()
