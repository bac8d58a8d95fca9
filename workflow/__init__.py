"""Pure domain of a 跨省通办 case: states, transitions, guards, identity numbers, calendar."""
