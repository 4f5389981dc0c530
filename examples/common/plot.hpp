// Curves people can look at: SVG line plots of a run's figures (loss, perplexity, accuracy,
// BLEU against steps or epochs) and heat maps (attention), written by hand as plain SVG 1.1,
// atomically (temp file + rename), readable in any browser.
//
//   Curves curves;                                   // kept in the checkpoint as text
//   curves.add("train loss", epoch, loss);           // one point per series per evaluation
//   curves.add("valid loss", epoch, valid);
//   write_line_plot("run.svg", curves, {"epoch", "loss (nats)", "word_lm on PTB"});
//
// Series whose names share the axis are drawn on one chart; a series added with a second
// axis name (PlotAxes::second_y) is drawn on a second chart below (e.g. perplexity or BLEU
// beside the losses), so every chart keeps a readable scale.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "replicas.hpp"

namespace tapenet::examples {

// Named series of (x, y) points, in the order they were added.
class Curves {
 public:
  // `chart` groups series drawn on one set of axes (0: the first chart, 1: the second).
  void add(const std::string& series, double x, double y, int chart = 0);
  bool empty() const { return series_.empty(); }

  struct Series {
    std::string name;
    int chart = 0;
    std::vector<std::pair<double, double>> points;
  };
  const std::vector<Series>& series() const { return series_; }

  // Drops every point with x > max_x (a resumed run repeats none of the points it replays).
  void truncate(double max_x);

  // "series<TAB>chart<TAB>x<TAB>y" lines, and back (the checkpoint's record).
  std::string to_text() const;
  static Curves from_text(const std::string& text);

 private:
  std::vector<Series> series_;
};

struct PlotAxes {
  std::string x_label, y_label, title, second_y;  // second_y: the y label of chart 1
};

// The charts of `curves` as one SVG file. Throws std::runtime_error naming the file when it
// cannot be written.
void write_line_plot(const std::string& path, const Curves& curves, const PlotAxes& axes);

// A [rows, columns] matrix of values in [0, 1] as a grey-scale heat map with the words on
// its axes (e.g. attention: rows the output words, columns the source words).
void write_heat_map(const std::string& path, const std::vector<std::vector<double>>& values,
                    const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                    const std::string& title);

// A run's --plot: its curves, restored from the checkpoint's record on --resume, one point
// per series at every evaluation, the SVG redrawn after each (no file without a path).
class RunPlot {
 public:
  RunPlot(std::string path, PlotAxes axes) : path_(std::move(path)), axes_(std::move(axes)) {}

  // The points of a resumed run's record, up to where the checkpoint was (x <= up_to_x).
  void restore(const std::string& record, double up_to_x) {
    curves_ = Curves::from_text(record);
    curves_.truncate(up_to_x);
  }
  void add(const std::string& series, double x, double y, int chart = 0) { curves_.add(series, x, y, chart); }
  void draw() const {
    if (!path_.empty() && !curves_.empty() && on_root()) write_line_plot(path_, curves_, axes_);
  }
  std::string record() const { return curves_.to_text(); }
  const Curves& curves() const { return curves_; }

 private:
  std::string path_;
  PlotAxes axes_;
  Curves curves_;
};

// ---- implementation ---------------------------------------------------------------------------

namespace plot_detail {

inline std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("plot: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("plot: cannot rename " + tmp + " to " + path);
}

// 1, 2 or 5 times a power of ten, giving about `count` ticks over [lo, hi].
inline std::vector<double> ticks(double lo, double hi, int count = 5) {
  const double span = hi - lo, raw = span / count, base = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / base < 1.5 ? base : raw / base < 3.5 ? 2 * base : raw / base < 7.5 ? 5 * base : 10 * base;
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};

struct Box {
  double left, top, width, height;
};

// One chart: frame, ticks, labels, the series of `chart` as polylines, and a legend.
inline void draw_chart(std::ostringstream& svg, const Curves& curves, int chart, const Box& box,
                       const std::string& x_label, const std::string& y_label) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : curves.series())
    if (s.chart == chart)
      for (auto [x, y] : s.points)
        if (std::isfinite(y)) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (!(x0 <= x1)) return;  // nothing finite to draw
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1, y0 -= 1;
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return box.left + (x - x0) / (x1 - x0) * box.width; };
  auto py = [&](double y) { return box.top + box.height - (y - y0) / (y1 - y0) * box.height; };
  svg << "<rect x=\"" << num(box.left) << "\" y=\"" << num(box.top) << "\" width=\"" << num(box.width)
      << "\" height=\"" << num(box.height) << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : ticks(x0, x1))
    svg << "<line x1=\"" << num(px(t)) << "\" y1=\"" << num(box.top + box.height) << "\" x2=\"" << num(px(t))
        << "\" y2=\"" << num(box.top + box.height + 5) << "\" stroke=\"#444\"/><text x=\"" << num(px(t)) << "\" y=\""
        << num(box.top + box.height + 18) << "\" text-anchor=\"middle\">" << num(t) << "</text>\n";
  for (double t : ticks(y0, y1))
    svg << "<line x1=\"" << num(box.left - 5) << "\" y1=\"" << num(py(t)) << "\" x2=\"" << num(box.left + box.width)
        << "\" y2=\"" << num(py(t)) << "\" stroke=\"#ddd\"/><text x=\"" << num(box.left - 8) << "\" y=\""
        << num(py(t) + 4) << "\" text-anchor=\"end\">" << num(t) << "</text>\n";
  svg << "<text x=\"" << num(box.left + box.width / 2) << "\" y=\"" << num(box.top + box.height + 36)
      << "\" text-anchor=\"middle\">" << escape_xml(x_label) << "</text>\n<text transform=\"translate("
      << num(box.left - 52) << "," << num(box.top + box.height / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
      << escape_xml(y_label) << "</text>\n";
  int k = 0;
  for (const auto& s : curves.series()) {
    if (s.chart != chart) continue;
    const char* colour = kColours[k % 7];
    svg << "<polyline class=\"series\" data-name=\"" << escape_xml(s.name) << "\" fill=\"none\" stroke=\"" << colour
        << "\" stroke-width=\"1.8\" points=\"";
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) svg << num(px(x)) << "," << num(py(y)) << " ";
    svg << "\"/>\n<text x=\"" << num(box.left + box.width - 8) << "\" y=\"" << num(box.top + 16 + 16 * k)
        << "\" text-anchor=\"end\" fill=\"" << colour << "\">" << escape_xml(s.name) << "</text>\n";
    ++k;
  }
}

}  // namespace plot_detail

inline void Curves::add(const std::string& series, double x, double y, int chart) {
  auto it = std::find_if(series_.begin(), series_.end(), [&](const Series& s) { return s.name == series; });
  if (it == series_.end()) it = series_.insert(series_.end(), Series{series, chart, {}});
  it->points.emplace_back(x, y);
}

inline void Curves::truncate(double max_x) {
  for (auto& s : series_)
    s.points.erase(std::remove_if(s.points.begin(), s.points.end(), [&](const auto& p) { return p.first > max_x; }),
                   s.points.end());
}

inline std::string Curves::to_text() const {
  std::ostringstream out;
  out.precision(17);
  for (const auto& s : series_)
    for (auto [x, y] : s.points) out << s.name << "\t" << s.chart << "\t" << x << "\t" << y << "\n";
  return out.str();
}

inline Curves Curves::from_text(const std::string& text) {
  Curves c;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, chart, x, y;
    if (!std::getline(fields, name, '\t') || !std::getline(fields, chart, '\t') || !std::getline(fields, x, '\t') ||
        !std::getline(fields, y))
      throw std::invalid_argument("curves: malformed line '" + line + "'");
    c.add(name, std::stod(x), std::stod(y), std::stoi(chart));
  }
  return c;
}

inline void write_line_plot(const std::string& path, const Curves& curves, const PlotAxes& axes) {
  using namespace plot_detail;
  const bool two = std::any_of(curves.series().begin(), curves.series().end(), [](const auto& s) { return s.chart == 1; });
  const double width = 720, chart_height = 300, top = 40, gap = 70;
  const double height = top + chart_height + gap + (two ? chart_height + gap : 0);
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\""
      << num(width) << "\" height=\"" << num(height) << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"" << num(width / 2)
      << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape_xml(axes.title) << "</text>\n";
  draw_chart(svg, curves, 0, {80, top, width - 110, chart_height}, axes.x_label, axes.y_label);
  if (two) draw_chart(svg, curves, 1, {80, top + chart_height + gap, width - 110, chart_height}, axes.x_label, axes.second_y);
  svg << "</svg>\n";
  write_atomically(path, svg.str());
}

inline void write_heat_map(const std::string& path, const std::vector<std::vector<double>>& values,
                           const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                           const std::string& title) {
  using namespace plot_detail;
  const std::size_t rows = values.size(), cols = rows ? values[0].size() : 0;
  if (row_labels.size() != rows || column_labels.size() != cols)
    throw std::invalid_argument("write_heat_map: " + std::to_string(rows) + "x" + std::to_string(cols) + " values with " +
                                std::to_string(row_labels.size()) + " row and " + std::to_string(column_labels.size()) +
                                " column labels");
  const double cell = 28, left = 120, top = 110;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\""
      << num(left + cell * cols + 20) << "\" height=\"" << num(top + cell * rows + 20)
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"10\" y=\"20\" font-size=\"15\">" << escape_xml(title) << "</text>\n";
  for (std::size_t c = 0; c < cols; ++c)
    svg << "<text transform=\"translate(" << num(left + cell * (c + 0.6)) << "," << num(top - 6)
        << ") rotate(-60)\">" << escape_xml(column_labels[c]) << "</text>\n";
  for (std::size_t r = 0; r < rows; ++r) {
    if (values[r].size() != cols) throw std::invalid_argument("write_heat_map: rows of different lengths");
    svg << "<text x=\"" << num(left - 6) << "\" y=\"" << num(top + cell * (r + 0.65)) << "\" text-anchor=\"end\">"
        << escape_xml(row_labels[r]) << "</text>\n";
    for (std::size_t c = 0; c < cols; ++c) {
      const int level = int(std::lround(255 * (1 - std::clamp(values[r][c], 0.0, 1.0))));
      svg << "<rect class=\"cell\" x=\"" << num(left + cell * c) << "\" y=\"" << num(top + cell * r) << "\" width=\""
          << num(cell) << "\" height=\"" << num(cell) << "\" fill=\"rgb(" << level << "," << level << "," << level
          << ")\"><title>" << num(values[r][c]) << "</title></rect>\n";
    }
  }
  svg << "</svg>\n";
  write_atomically(path, svg.str());
}

}  // namespace tapenet::examples
