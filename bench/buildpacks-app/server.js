const express = require("express");
const _ = require("lodash");
const dayjs = require("dayjs");
const ms = require("ms");
const app = express();
const body = require("fs").readFileSync(__dirname + "/body.txt", "utf8").trim();
app.get("/", (req, res) => res.send(`${body} ${_.kebabCase("wharf Bench")} ${ms(60000)} ${dayjs(0).year()}\n`));
app.listen(process.env.PORT);
