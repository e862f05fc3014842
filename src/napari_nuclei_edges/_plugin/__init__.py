"""npe2 glue: the reader, the sample data, layer-data tuples and the grid arrangement."""
