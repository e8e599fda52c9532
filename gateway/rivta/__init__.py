"""RIVTA BP 2.1 over SOAP 1.1: what both directions share (transport, safe XML, the
project's own service contract, and the gateway's inbound endpoint)."""
