"""Stream processing: Faust agents and tables over the RecSys topics."""
