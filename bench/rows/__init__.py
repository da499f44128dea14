"""One module per benchmark row group. Each defines ``ORDER`` (its place in the table)
and ``run(ctx: common.Context) -> list[common.Row]``; it may define
``workload(ctx, row_name) -> callable`` (the figure's work, for the profile shown when a
target is not met). bench/run.py discovers them."""
