import { strict as assert } from 'node:assert';
import { ClccStat, parseCcinfo, parseCcwa, parseCeer, parseClcc, parseClip, parseDsci, splitFields } from '../../lib/at/urc-parsers';

describe('URC parsers', () => {
  it('splits fields keeping quoted commas', () => {
    assert.deepEqual(splitFields('1,"a,b",3'), ['1', 'a,b', '3']);
  });

  it('reads +CLCC, with and without number', () => {
    assert.deepEqual(parseClcc('+CLCC: 1,0,3,0,0,"+4930123",145'), {
      index: 1, dir: 0, stat: ClccStat.Alerting, mode: 0, number: '+4930123', numberType: 145, multiparty: false,
    });
    assert.equal(parseClcc('+CLCC: 7,0,0,1,0,"",0')?.mode, 1);
    assert.equal(parseClcc('+CLCC: 2,1,4,0,0')?.number, '');
    assert.equal(parseClcc('+CLCC: x,0,0'), null);
    assert.equal(parseClcc('+CLCC: 1,3,0,0,0'), null);
    assert.equal(parseClcc('garbage'), null);
  });

  it('reads Quectel ccinfo including the release state -1', () => {
    const o = parseCcinfo('+QIND: "ccinfo",1,1,4,0,0,"10086",129');
    assert.equal(o?.stat, ClccStat.Incoming);
    assert.equal(o?.dir, 1);
    assert.equal(o?.number, '10086');
    assert.equal(parseCcinfo('+QIND: "ccinfo",1,1,-1,0,0,"10086",129')?.stat, ClccStat.Released);
    assert.equal(parseCcinfo('+QIND: "csq",1'), null);
  });

  it('reads ^DSCI, with the cause of a release, tolerating extra fields', () => {
    assert.equal(parseDsci('^DSCI: 1,0,7,0,"5551234",129')?.stat, ClccStat.Alerting);
    const end = parseDsci('^DSCI: 1,0,6,0,"5551234",129,17');
    assert.equal(end?.stat, ClccStat.Released);
    assert.equal(end?.q850, 17);
    const unisoc = parseDsci('^DSCI: 2,1,6,0,"+4930",145,0,,,21');
    assert.equal(unisoc?.number, '+4930');
    assert.equal(unisoc?.q850, 21);
    assert.equal(parseDsci('^DSCI: 1,0,9,0,"1",129'), null);
  });

  it('reads caller id from +CLIP and +CCWA', () => {
    assert.deepEqual(parseClip('+CLIP: "+4930123",145,,,"Alice",0'), { number: '+4930123', numberType: 145, name: 'Alice' });
    assert.deepEqual(parseClip('+CLIP: "",128,,,,1'), { number: '', numberType: 128 });
    assert.equal(parseCcwa('+CCWA: "5550001",129,1')?.number, '5550001');
  });

  it('reads +CEER with and without a number', () => {
    assert.deepEqual(parseCeer('+CEER: "CC REJECT",17,"User busy"'), { text: 'CC REJECT: User busy', q850: 17 });
    assert.deepEqual(parseCeer('+CEER: No cause information available'), { text: 'No cause information available' });
  });
});
