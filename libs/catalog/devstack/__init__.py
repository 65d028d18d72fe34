"""The embedded development stack (`make up` / `make down`); see `stack.py`."""
