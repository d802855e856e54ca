/** Layer contents: browse, read and size a ref's layer or merged view. */
export { openLayerContents } from "./openLayerContents";
export { encodeLayerPath, decodeLayerPath, cleanLayerPath } from "./layerPath";
export type {
    LayerContents,
    LayerEntry,
    LayerEntryType,
    LayerChange,
    LayerView,
    ContentsOrigin,
    ContentsSourceChoice,
    BlobOrigin,
    IndexedBlob,
    ReadRange,
    OpenContentsOptions,
} from "./types";
export { computeLayerSizes, type SizeOptions, type SizeReport, type LayerSizes, type DirectorySizes, type ChangeTallies, type Tally, type DiveFigures, type DiveInefficiency } from "./layerSizes";
export { openImageSource, ImageSource, type ImageInfo, type ImageLayerInfo, type OpenImageOptions } from "./imageContents";
