from search.app import main

main()
