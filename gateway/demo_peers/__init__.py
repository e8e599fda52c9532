"""Demo peers on loopback: journal systems the demo directory's vårdcentraler are reached at."""
