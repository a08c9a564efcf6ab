"""The box-and-error-bar chart every bench script draws: one row per
panel, responses per second beside server CPU per response, each bar a
median with its min-max as the error bar. Each panel's .dat file has one
line per server: index, name, rate median, min, max, CPU median, min, max.
"""
import subprocess


def draw(png, title, panels, servers, unit="response"):
    """Writes `png` with gnuplot; panels is a list of (title, dat path)."""
    plots = "".join(f"""
set title '{panel}'
set ylabel '{unit}s/s (median, min–max)'
plot '{dat}' using 1:3:4:5:(0.6):xtic(2) with boxerrorbars notitle
set ylabel 'server CPU µs per {unit} (median, min–max)'
plot '{dat}' using 1:6:7:8:(0.6):xtic(2) with boxerrorbars notitle
""" for panel, dat in panels)
    gp = f"""
set terminal pngcairo size 1200,{420 * len(panels)}
set output '{png}'
set multiplot layout {len(panels)},2 title '{title}'
set style fill solid 0.5
set boxwidth 0.6
set yrange [0:*]
set xrange [-0.5:{servers - 0.5}]
set xtics rotate by -20
set errorbars 1.5
{plots}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=gp.encode(), check=True)
