"""Fleet commands over MQTT: publish, gateway, fleet (docs/fleet.md)."""
