"""The taizhang command groups; ``cli.py`` assembles them."""
