"""`python -m persister`: run the persister worker."""

from persister.app import main

main()
