"""Swedish reference data (län/regioner and kommuner) shipped as CSV package data.

Read it through :mod:`gateway.routing.reference_data`, not directly.
"""
