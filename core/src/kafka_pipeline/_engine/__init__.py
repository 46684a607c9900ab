"""The plugin engine: offers each message to the plugins behind timeouts, retries and breakers."""
