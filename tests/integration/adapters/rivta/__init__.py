"""The rivta journal adapter and the gateway's RIVTA endpoint, against real SOAP peers."""
