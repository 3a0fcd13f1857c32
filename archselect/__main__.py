from archselect.cli import main

main()
