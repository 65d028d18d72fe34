"""`python -m validator`: run the validator worker."""

from validator.app import main

main()
