// tapenet: one include for the engine, the optimizers and the basic layers.
#pragma once

#include "autograd/gradcheck.hpp"
#include "io/npz.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"
#include "layers/basic.hpp"
#include "layers/init.hpp"
#include "layers/layer_norm.hpp"
#include "layers/module.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
