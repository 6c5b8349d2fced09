"""One folder per channel (sms/, telegram/) plus the console channel and the gateway shape.
Each folder holds its transport, its webhook and its commands."""
