"""A hospital's fleet over an MQTT broker (docs/fleet.md): publish a release
once (publisher.py), ward gateways push it to their pumps over serial
(gateway.py, workers.py), one view shows who runs what (view.py, page.py).
The broker only carries bytes: every pump verifies what it is given."""
