// A PNG of the results through gnuplot (Debian's gnuplot-nox): panels stacked vertically,
// each a clustered bar chart (clusters = workloads or metrics, bars = targets or backends),
// every bar labelled with its value.
#pragma once

#include <string>
#include <vector>

namespace paddock::bench {

struct PlotPanel {
  std::string title;
  std::string ylabel;
  bool log_y = false;
  std::vector<std::string> groups;          // clusters along x
  std::vector<std::string> series;          // bars within a cluster (legend)
  std::vector<std::vector<double>> values;  // [group][series]; NaN = missing
  double reference = 0;                      // > 0: a dashed horizontal line at this value
};

// Writes `png`; `scratch_dir` receives the data files and the script. Throws BenchError with
// gnuplot's own message when it is missing or fails.
void render_plot(const std::string& png, const std::string& title,
                 const std::vector<PlotPanel>& panels, const std::string& scratch_dir);

}  // namespace paddock::bench
