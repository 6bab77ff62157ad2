/**
 * @file Types for electron-vite's import suffixes (`?modulePath` for utility-process entries) in main/.
 */
/// <reference types="electron-vite/node" />
