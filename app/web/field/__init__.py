"""The volunteers' offline field app, served at `/field/`."""
