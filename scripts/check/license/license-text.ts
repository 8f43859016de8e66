/**
 * Which licenses a LICENSE/COPYING file's text is (Go modules carry no license field, only the file). Every
 * license recognised in the file is returned; the caller requires all of them to be allowed.
 */
const TEXTS: Array<[RegExp, string]> = [
  [/GNU AFFERO GENERAL PUBLIC LICENSE/i, 'AGPL-3.0'],
  [/Server Side Public License/i, 'SSPL-1.0'],
  [/Business Source License/i, 'BUSL-1.1'],
  [/Commons Clause/i, 'Commons-Clause'],
  [/GNU LESSER GENERAL PUBLIC LICENSE/i, 'LGPL'],
  [/GNU GENERAL PUBLIC LICENSE/, 'GPL'],
  [/Mozilla Public License,?\s+(Version|v\.?)\s*2\.0/i, 'MPL-2.0'],
  [/Apache License[\s\S]{0,80}?Version 2\.0/i, 'Apache-2.0'],
  [/Permission is hereby granted, free of charge/i, 'MIT'],
  [/Permission to use, copy, modify, and(\/or)? distribute this software for any\s+purpose with or without fee/i, 'ISC'],
  [/free and unencumbered software released into the public domain/i, 'Unlicense'],
  [/CC0 1\.0 Universal/i, 'CC0-1.0'],
  [/Blue Oak Model License/i, 'BlueOak-1.0.0'],
];

const BSD = /Redistribution and use in source and binary forms/i;
const BSD3 = /Neither the name|names of (its|the) contributors|name of the copyright holder/i;

export function licensesInText(text: string): string[] {
  const found = TEXTS.filter(([re]) => re.test(text)).map(([, id]) => id);
  if (BSD.test(text)) found.push(BSD3.test(text) ? 'BSD-3-Clause' : 'BSD-2-Clause');
  return [...new Set(found)];
}
