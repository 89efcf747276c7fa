"""`python -m venue.cli ...`: the `venue` command."""

from venue.cli import main

if __name__ == "__main__":
    main()
