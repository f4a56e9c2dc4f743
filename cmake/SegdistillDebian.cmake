# Debian packages made by `cpack` from a build tree (tools/package.sh):
#   segdistill      the command, libsegdistill, the plugins and the shipped configs; its
#                   Depends come from dpkg-shlibdeps (the Debian libraries it links)
#   segdistill-dev  the SDK headers and the CMake package, for out-of-tree plugins; depends
#                   on segdistill of the same version and the -dev packages the headers include
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME segdistill)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "segdistill")
set(CPACK_PACKAGE_CONTACT "segdistill maintainers <segdistill-maintainers@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "semantic-segmentation knowledge distillation (TaT) with LibTorch")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME segdistill)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# libsegdistill ships in the package itself: dpkg-shlibdeps finds it there.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/lib")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "semantic-segmentation knowledge distillation (TaT) with LibTorch
 Trains compact DeepLabV3+ students (ResNet-18, MobileNetV2) by knowledge distillation
 from a DeepLabV3+ ResNet-101 teacher with the Target-aware Transformer (patch-group and
 anchor-point distillation) and baseline distillers, from TOML configs; evaluates and
 predicts. Everything concrete is a plugin loaded at run time.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME segdistill-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "segdistill (= ${PROJECT_VERSION}), libtorch-dev, libspdlog-dev, libboost-dev, libopencv-dev, nlohmann-json3-dev, cmake")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION
    "SDK of segdistill for out-of-tree plugins
 The headers of libsegdistill and its CMake package: find_package(segdistill) gives
 segdistill::sdk and segdistill_add_plugin() to build backbones, heads, data sets,
 transforms and distillers that `segdistill --plugin-dir` loads.")
include(CPack)
