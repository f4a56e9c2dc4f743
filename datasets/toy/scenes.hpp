#pragma once
// The toy data set's two kinds of scene. Each draws one image and its label from `draw`
// (and cv::theRNG for the sensor noise), the same on every machine.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "drawing.hpp"

namespace segdistill::toy {

// "shapes": 1-3 large shapes, one class per shape, each with its own hue family and
// texture on a cluttered background. Colour alone gets a narrow network far.
void draw_shapes_scene(cv::Size size, Draw& draw, cv::Mat& image, cv::Mat& label);
const std::vector<std::string>& shapes_class_names();

// "textured-shapes": 2-5 smaller, overlapping shapes; a class is a shape AND a texture
// (striped or checked), in random colours, among background blobs that carry the same
// textures. Neither colour, texture nor shape alone tells the classes apart.
void draw_textured_shapes_scene(cv::Size size, Draw& draw, cv::Mat& image, cv::Mat& label);
const std::vector<std::string>& textured_shapes_class_names();

}  // namespace segdistill::toy
