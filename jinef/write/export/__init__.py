"""Export of every active unit with the export file's columns: the per-address reference
(:mod:`jinef.write.export.addresses`) and the column-wise writer used at national scale
(:mod:`jinef.write.export.lines`)."""
