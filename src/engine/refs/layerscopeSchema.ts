/**
 * The JSON Schema of WORKSPACE/layerscope.json, as a value: the tests are compiled file by
 * file (no bundler), so a `.json` import would not be found at run time.
 * `layerscope.schema.json` holds the same document for editors and the extension manifest;
 * test/unit/refsSchema.test.ts keeps the two equal and checks that the schema and the loader
 * (workspaceFile.ts) accept and refuse the same documents.
 */
export const LAYERSCOPE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Layerscope workspace",
    "description": "WORKSPACE/layerscope.json: the snapshot refs of a workspace, modelled on BuildKit's cache refs (BaseLayer, Layer, Merge, Diff).",
    "type": "object",
    "additionalProperties": false,
    "required": [
        "snapshotter",
        "refs"
    ],
    "properties": {
        "$schema": {
            "type": "string"
        },
        "snapshotter": {
            "description": "native: each snapshot directory is a full root filesystem. overlayfs: each is an overlayfs upperdir over its parent's view (whiteouts are 0/0 character devices, opaque directories carry trusted.overlay.opaque=y or user.overlay.opaque=y).",
            "enum": [
                "native",
                "overlayfs"
            ]
        },
        "refs": {
            "type": "array",
            "items": {
                "$ref": "#/definitions/ref"
            }
        }
    },
    "definitions": {
        "refId": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
            "maxLength": 128
        },
        "ref": {
            "type": "object",
            "additionalProperties": false,
            "required": [
                "id"
            ],
            "properties": {
                "id": {
                    "description": "Unique within the workspace.",
                    "$ref": "#/definitions/refId"
                },
                "parent": {
                    "description": "A Layer: this snapshot is its parent plus changes.",
                    "$ref": "#/definitions/refId"
                },
                "merge": {
                    "description": "A Merge of these refs' layers, in order (null entries are skipped; Merge inputs are flattened; one input makes this id an alias of it).",
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "anyOf": [
                            {
                                "$ref": "#/definitions/refId"
                            },
                            {
                                "type": "null"
                            }
                        ]
                    }
                },
                "diff": {
                    "description": "A Diff: the changes from lower's view to upper's view (upper null: to the empty tree).",
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                        "lower",
                        "upper"
                    ],
                    "properties": {
                        "lower": {
                            "$ref": "#/definitions/refId"
                        },
                        "upper": {
                            "anyOf": [
                                {
                                    "$ref": "#/definitions/refId"
                                },
                                {
                                    "type": "null"
                                }
                            ]
                        }
                    }
                },
                "snapshot": {
                    "description": "The snapshot directory, relative to the workspace and inside it (BaseLayer and Layer only).",
                    "type": "string",
                    "minLength": 1
                },
                "layerType": {
                    "enum": [
                        "linux",
                        "windows"
                    ]
                },
                "description": {
                    "type": "string"
                }
            },
            "oneOf": [
                {
                    "title": "BaseLayer",
                    "required": [
                        "snapshot"
                    ],
                    "not": {
                        "anyOf": [
                            {
                                "required": [
                                    "parent"
                                ]
                            },
                            {
                                "required": [
                                    "merge"
                                ]
                            },
                            {
                                "required": [
                                    "diff"
                                ]
                            }
                        ]
                    }
                },
                {
                    "title": "Layer",
                    "required": [
                        "parent",
                        "snapshot"
                    ],
                    "not": {
                        "anyOf": [
                            {
                                "required": [
                                    "merge"
                                ]
                            },
                            {
                                "required": [
                                    "diff"
                                ]
                            }
                        ]
                    }
                },
                {
                    "title": "Merge",
                    "required": [
                        "merge"
                    ],
                    "not": {
                        "anyOf": [
                            {
                                "required": [
                                    "parent"
                                ]
                            },
                            {
                                "required": [
                                    "diff"
                                ]
                            },
                            {
                                "required": [
                                    "snapshot"
                                ]
                            }
                        ]
                    }
                },
                {
                    "title": "Diff",
                    "required": [
                        "diff"
                    ],
                    "not": {
                        "anyOf": [
                            {
                                "required": [
                                    "parent"
                                ]
                            },
                            {
                                "required": [
                                    "merge"
                                ]
                            },
                            {
                                "required": [
                                    "snapshot"
                                ]
                            }
                        ]
                    }
                }
            ]
        }
    }
} as const;
