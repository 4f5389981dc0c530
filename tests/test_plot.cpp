// examples/common/plot.hpp: the SVG curves and heat maps every example writes (--plot).
#define BOOST_TEST_MODULE plot
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "examples/common/plot.hpp"

using namespace tapenet::examples;
namespace pt = boost::property_tree;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tapenet_test_plot_" + name)).string();
}

// Parses the file as XML (throws when it is not well-formed) and returns its <svg> element.
pt::ptree parse_svg(const std::string& path) {
  pt::ptree tree;
  pt::read_xml(path, tree);
  return tree.get_child("svg");
}

// The data-name of every polyline of class "series", and the number of their points.
std::map<std::string, std::size_t> series_of(const pt::ptree& svg) {
  std::map<std::string, std::size_t> out;
  for (const auto& [tag, node] : svg) {
    if (tag != "polyline" || node.get<std::string>("<xmlattr>.class", "") != "series") continue;
    std::istringstream points(node.get<std::string>("<xmlattr>.points"));
    std::size_t n = 0;
    for (std::string p; points >> p;) ++n;
    out[node.get<std::string>("<xmlattr>.data-name")] = n;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_line_plot_is_well_formed_svg_with_every_series) {
  Curves c;
  for (int e = 1; e <= 4; ++e) {
    c.add("train loss", e, 5.0 / e);
    c.add("valid loss", e, 5.5 / e);
    c.add("valid ppl", e, 200.0 / e, 1);
  }
  c.add("valid loss", 5, NAN);  // a non-finite point is left out, not drawn as garbage
  const std::string path = temp_path("curves.svg");
  write_line_plot(path, c, {"epoch", "loss <nats>", "a & b", "perplexity"});
  const pt::ptree svg = parse_svg(path);
  const auto series = series_of(svg);
  BOOST_TEST(series.size() == 3u);
  BOOST_TEST(series.at("train loss") == 4u);
  BOOST_TEST(series.at("valid loss") == 4u);
  BOOST_TEST(series.at("valid ppl") == 4u);
  std::set<std::string> texts;
  for (const auto& [tag, node] : svg)
    if (tag == "text") texts.insert(node.data());
  BOOST_TEST(texts.count("epoch") == 1u);  // the x label, once per chart... at least once
  BOOST_TEST(texts.count("loss <nats>") == 1u);  // escaped in the file, read back as text
  BOOST_TEST(texts.count("perplexity") == 1u);
  BOOST_TEST(texts.count("a & b") == 1u);
}

BOOST_AUTO_TEST_CASE(curves_round_trip_and_truncate_for_a_resumed_run) {
  Curves c;
  c.add("train", 1, 0.5);
  c.add("train", 2, 0.25);
  c.add("bleu", 2, 12.5, 1);
  Curves back = Curves::from_text(c.to_text());
  BOOST_TEST(back.to_text() == c.to_text());
  back.truncate(1);
  BOOST_TEST(back.series().at(0).points.size() == 1u);
  BOOST_TEST(back.series().at(1).points.empty());
  BOOST_CHECK_THROW(Curves::from_text("only\tthree\tfields\n"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_heat_map_has_one_cell_per_value_and_the_words_on_its_axes) {
  const std::string path = temp_path("attention.svg");
  write_heat_map(path, {{0.9, 0.1, 0.0}, {0.2, 0.7, 0.1}}, {"je", "suis"}, {"i", "am", "<eos>"}, "attention");
  const pt::ptree svg = parse_svg(path);
  std::size_t cells = 0;
  std::set<std::string> texts;
  for (const auto& [tag, node] : svg) {
    if (tag == "rect" && node.get<std::string>("<xmlattr>.class", "") == "cell") ++cells;
    if (tag == "text") texts.insert(node.data());
  }
  BOOST_TEST(cells == 6u);
  for (const char* w : {"je", "suis", "i", "am", "<eos>"}) BOOST_TEST(texts.count(w) == 1u, w);
  BOOST_CHECK_THROW(write_heat_map(path, {{0.5}}, {"a", "b"}, {"c"}, "x"), std::invalid_argument);
}
