#include "plot.hpp"

#include <cmath>
#include <fstream>

#include "common.hpp"
#include "json.hpp"
#include "server_process.hpp"

namespace paddock::bench {

namespace {

std::string gp_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

void render_plot(const std::string& png, const std::string& title,
                 const std::vector<PlotPanel>& panels, const std::string& scratch_dir) {
  if (panels.empty()) throw BenchError("nothing to plot");
  const std::string script_path = scratch_dir + "/plot.gp";
  std::ofstream gp(script_path);
  int height = 120 + 380 * static_cast<int>(panels.size());
  gp << "set terminal pngcairo size 1280," << height << " font 'Sans,11' noenhanced\n"
     << "set output " << gp_quote(png) << "\n"
     << "set datafile missing '?'\n"
     << "set style data histograms\n"
     << "set style histogram clustered gap 1\n"
     << "set style fill solid 0.8 border -1\n"
     << "set boxwidth 0.95\n"
     << "set grid ytics lc rgb '#dddddd'\n"
     << "set key outside right top vertical\n"
     << "set xtics nomirror\n"
     << "set border 3\n"
     << "fmt(x) = abs(x) >= 1e6 ? sprintf('%.2fM', x/1e6) : abs(x) >= 1e4 ? sprintf('%.1fk', x/1e3)"
        " : abs(x) >= 100 ? sprintf('%.0f', x) : sprintf('%.3g', x)\n"
     << "set multiplot layout " << panels.size() << ",1 title " << gp_quote(title)
     << " font 'Sans,14'\n";
  for (size_t p = 0; p < panels.size(); ++p) {
    const PlotPanel& panel = panels[p];
    const std::string data_path = scratch_dir + "/panel" + std::to_string(p) + ".dat";
    std::ofstream data(data_path);
    double max_v = 0, min_v = INFINITY;
    for (size_t g = 0; g < panel.groups.size(); ++g) {
      data << gp_quote(panel.groups[g]);
      for (size_t s = 0; s < panel.series.size(); ++s) {
        double v = g < panel.values.size() && s < panel.values[g].size() ? panel.values[g][s] : nan();
        if (std::isfinite(v) && (!panel.log_y || v > 0)) {
          data << " " << JsonObject::number(v);
          max_v = std::max(max_v, v);
          min_v = std::min(min_v, v);
        } else {
          data << " ?";
        }
      }
      data << "\n";
    }
    data.close();
    size_t n = panel.series.size();
    size_t label_chars = 0;
    for (const auto& g : panel.groups) label_chars += g.size() + 2;
    gp << (label_chars > 100 ? "set xtics rotate by 25 right\n" : "set xtics norotate\n");
    gp << "set title " << gp_quote(panel.title) << "\n"
       << "set ylabel " << gp_quote(panel.ylabel) << "\n";
    if (panel.log_y && std::isfinite(min_v) && max_v > 0) {
      gp << "set logscale y\nset yrange [" << min_v / 2 << ":" << max_v * 4 << "]\n";
    } else {
      gp << "unset logscale y\nset yrange [0:" << (max_v > 0 ? max_v * 1.18 : 1) << "]\n";
    }
    gp << "unset arrow\n";
    if (panel.reference > 0) {
      gp << "set arrow from graph 0, first " << panel.reference << " to graph 1, first " << panel.reference
         << " nohead dashtype 2 lc rgb '#555555'\n";
    }
    gp << "plot ";
    for (size_t s = 0; s < n; ++s) {
      gp << (s ? ", '' " : gp_quote(data_path) + " ") << "using " << s + 2
         << (s == 0 ? ":xtic(1)" : "") << " title " << gp_quote(panel.series[s]);
    }
    // Value labels above each bar: bar s of a cluster sits at x = cluster + (s - (n-1)/2)/(n+gap).
    for (size_t s = 0; s < n; ++s) {
      double offset = (static_cast<double>(s) - (static_cast<double>(n) - 1) / 2) / (static_cast<double>(n) + 1);
      gp << ", '' using ($0" << (offset >= 0 ? "+" : "") << offset << "):" << s + 2 << ":(fmt($"
         << s + 2 << ")) with labels offset 0,0.7 font 'Sans,9' notitle";
    }
    gp << "\n";
  }
  gp << "unset multiplot\n";
  gp.close();
  std::string log = scratch_dir + "/gnuplot.log";
  int rc = run_and_wait({"gnuplot", script_path}, log, 60.0);
  if (rc != 0) {
    std::string text;
    try {
      text = trim(read_file(log));
    } catch (const BenchError&) {
    }
    throw BenchError("gnuplot failed (exit " + std::to_string(rc) + ") writing " + png +
                     (text.empty() ? "" : ": " + text.substr(0, 400)) +
                     (rc == 127 ? " (is Debian's gnuplot-nox installed?)" : ""));
  }
}

}  // namespace paddock::bench
