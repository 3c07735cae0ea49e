// Package yuv holds the pure-Go picture work of the SDK's video path: I420 frames (as
// *image.YCbCr with 4:2:0 subsampling), conversion from NV12 and RGBA, rotation, downscaling,
// watermark blending, and saving a frame as PNG or JPEG.
//
// Everything here works on whole frames in place or into caller-owned buffers and allocates
// only when a frame size changes, because it runs once per video frame on the send path.
package yuv
