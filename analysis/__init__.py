"""Trade Assurance outcomes analytics workbench."""

__version__ = "0.1.0"
