"""`python -m router`: run the router worker."""

from router.app import main

main()
