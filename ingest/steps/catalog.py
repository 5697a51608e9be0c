"""The watch catalog: canonical brands with their raw aliases, and reference numbers with models.

The cleaning stage resolves free-text brands with :func:`brand_alias_map` and the parent and
specific model of a listing with :func:`reference_index`; the simulator draws its listings
from :data:`REFERENCES` (``base_price_usd`` is a believable secondary-market price level in
late 2025 / 2026, the anchor of the simulated price paths).

The data is one compact table (:data:`_TABLE`) parsed once at import. Its layout::

    Brand | Parent model            <- a group header (no indentation)
      REFERENCE | Specific model | base price in USD
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

__all__ = ["BRANDS", "REFERENCES", "Reference", "brand_alias_map", "parent_models", "reference_index"]


@dataclass(frozen=True)
class Reference:
    """One reference number of the catalog."""

    brand: str
    parent_model: str
    specific_model: str
    reference_number: str
    base_price_usd: float


#: Canonical brand -> the raw spellings seen in listings (the canonical form first).
BRANDS: dict[str, tuple[str, ...]] = {
    "Rolex": ("Rolex", "ROLEX", "rolex", "Rolex SA"),
    "Patek Philippe": (
        "Patek Philippe",
        "Patek",
        "PP",
        "patek philippe",
        "PATEK PHILIPPE",
        "Patek Philippe & Co.",
    ),
    "Audemars Piguet": ("Audemars Piguet", "Audemars", "AP", "audemars piguet", "AUDEMARS PIGUET"),
    "Omega": ("Omega", "OMEGA", "omega"),
    "Tudor": ("Tudor", "TUDOR", "tudor"),
    "Cartier": ("Cartier", "CARTIER", "cartier"),
    "Jaeger-LeCoultre": (
        "Jaeger-LeCoultre",
        "Jaeger LeCoultre",
        "JLC",
        "Jaeger-Lecoultre",
        "Jaeger Le Coultre",
    ),
    "A. Lange & Söhne": ("A. Lange & Söhne", "A. Lange & Sohne", "Lange", "A Lange & Sohne", "Lange & Söhne"),
    "Vacheron Constantin": ("Vacheron Constantin", "Vacheron", "VC", "vacheron constantin"),
    "IWC": ("IWC", "IWC Schaffhausen", "iwc", "I.W.C."),
    "Breitling": ("Breitling", "BREITLING", "breitling"),
    "TAG Heuer": ("TAG Heuer", "Tag Heuer", "TAG-Heuer", "TAG", "Heuer"),
    "Panerai": ("Panerai", "Officine Panerai", "PANERAI"),
    "Grand Seiko": ("Grand Seiko", "GS", "GRAND SEIKO", "grand seiko"),
    "Hublot": ("Hublot", "HUBLOT", "hublot"),
    "Richard Mille": ("Richard Mille", "RM", "Richard-Mille", "RICHARD MILLE"),
    "Zenith": ("Zenith", "Zénith", "ZENITH"),
    "Longines": ("Longines", "LONGINES", "longines"),
    "Blancpain": ("Blancpain", "BLANCPAIN"),
    "Breguet": ("Breguet", "Bréguet", "BREGUET"),
}

_TABLE = """
Rolex | Submariner
  126610LN | Submariner Date | 14200
  126610LV | Submariner Date Starbucks | 16800
  124060 | Submariner No Date | 11600
  114060 | Submariner No Date | 10400
  116610LN | Submariner Date | 12600
  116610LV | Submariner Date Hulk | 17500
  126613LB | Submariner Date Two-Tone Bluesy | 17200
  126613LN | Submariner Date Two-Tone | 15800
  126618LB | Submariner Date Yellow Gold | 41000
  126619LB | Submariner Date Smurf | 43500
  116613LB | Submariner Date Two-Tone Bluesy | 14100
  116618LB | Submariner Date Yellow Gold | 36500
  16610 | Submariner Date | 9400
  16610LV | Submariner Date Kermit | 15500
  14060M | Submariner No Date | 9100
Rolex | Cosmograph Daytona
  126500LN | Cosmograph Daytona | 30500
  116500LN | Cosmograph Daytona | 28500
  116520 | Cosmograph Daytona | 22500
  126506 | Cosmograph Daytona Platinum Ice Blue | 118000
  116506 | Cosmograph Daytona Platinum Ice Blue | 92000
  126508 | Cosmograph Daytona Yellow Gold | 56000
  126509 | Cosmograph Daytona White Gold | 52000
  126515LN | Cosmograph Daytona Everose Oysterflex | 38500
  116515LN | Cosmograph Daytona Everose Oysterflex | 33000
  116518LN | Cosmograph Daytona Yellow Gold Oysterflex | 34500
  116519LN | Cosmograph Daytona White Gold Oysterflex | 33500
  126518LN | Cosmograph Daytona Yellow Gold Oysterflex | 37500
  126503 | Cosmograph Daytona Two-Tone | 26500
  116523 | Cosmograph Daytona Two-Tone | 19500
  116508 | Cosmograph Daytona John Mayer | 76000
Rolex | GMT-Master II
  126710BLRO | GMT-Master II Pepsi | 23500
  126710BLNR | GMT-Master II Batman | 19200
  126710GRNR | GMT-Master II Destro | 17800
  126720VTNR | GMT-Master II Sprite | 18600
  126711CHNR | GMT-Master II Root Beer | 20500
  126715CHNR | GMT-Master II Everose Root Beer | 46000
  126713GRNR | GMT-Master II Two-Tone Guinness | 21500
  126719BLRO | GMT-Master II White Gold Pepsi | 48500
  116710LN | GMT-Master II | 13200
  116710BLNR | GMT-Master II Batman | 17200
  116719BLRO | GMT-Master II White Gold Pepsi | 39000
  16710 | GMT-Master II | 12600
Rolex | Datejust
  126334 | Datejust 41 | 12800
  126300 | Datejust 41 | 10200
  126331 | Datejust 41 Everose Rolesor | 14700
  126333 | Datejust 41 Yellow Rolesor | 13600
  126234 | Datejust 36 | 10600
  126200 | Datejust 36 | 8600
  126231 | Datejust 36 Everose Rolesor | 12700
  126233 | Datejust 36 Yellow Rolesor | 11600
  126284RBR | Datejust 36 Diamond Bezel | 16200
  116234 | Datejust 36 | 8100
  116200 | Datejust 36 | 7100
  116334 | Datejust II | 9100
  16234 | Datejust 36 | 6100
  278274 | Datejust 31 | 9600
  279174 | Lady-Datejust 28 | 8200
Rolex | Day-Date
  228238 | Day-Date 40 Yellow Gold | 38500
  228235 | Day-Date 40 Everose | 40500
  228239 | Day-Date 40 White Gold | 41500
  228206 | Day-Date 40 Platinum | 66000
  128238 | Day-Date 36 Yellow Gold | 32500
  128235 | Day-Date 36 Everose | 34000
  128239 | Day-Date 36 White Gold | 33500
  118238 | Day-Date 36 Yellow Gold | 25500
  118206 | Day-Date 36 Platinum | 45500
  218238 | Day-Date II | 29500
Rolex | Explorer
  124270 | Explorer 36 | 8100
  224270 | Explorer 40 | 8600
  214270 | Explorer 39 | 7100
  114270 | Explorer 36 | 6100
  14270 | Explorer 36 | 6600
  226570 | Explorer II | 10600
  216570 | Explorer II | 9600
  16570 | Explorer II | 8100
Rolex | Sea-Dweller
  126600 | Sea-Dweller 43 | 13100
  126603 | Sea-Dweller 43 Yellow Rolesor | 16100
  116600 | Sea-Dweller 4000 | 12100
  16600 | Sea-Dweller | 10100
  136660 | Deepsea | 14600
  126660 | Deepsea | 13600
  116660 | Deepsea | 11100
Rolex | Yacht-Master
  126622 | Yacht-Master 40 | 13600
  116622 | Yacht-Master 40 | 12100
  268622 | Yacht-Master 37 | 13100
  226659 | Yacht-Master 42 White Gold | 28500
  126655 | Yacht-Master 40 Everose Oysterflex | 26500
  116680 | Yacht-Master II | 15200
  116681 | Yacht-Master II Everose Rolesor | 17200
Rolex | Oyster Perpetual
  124300 | Oyster Perpetual 41 | 8600
  126000 | Oyster Perpetual 36 | 8100
  124200 | Oyster Perpetual 34 | 6300
  277200 | Oyster Perpetual 31 | 6600
  114300 | Oyster Perpetual 39 | 6600
  116000 | Oyster Perpetual 36 | 5900
Rolex | Sky-Dweller
  326934 | Sky-Dweller | 19200
  336934 | Sky-Dweller | 21200
  326933 | Sky-Dweller Yellow Rolesor | 24500
  326235 | Sky-Dweller Everose | 44500
  326238 | Sky-Dweller Yellow Gold | 45500
Rolex | Milgauss
  116400GV | Milgauss Green Crystal | 12100
  116400 | Milgauss | 9600
Rolex | Air-King
  126900 | Air-King | 8100
  116900 | Air-King | 7100
Patek Philippe | Nautilus
  5711/1A-010 | Nautilus Blue Dial | 112000
  5711/1A-011 | Nautilus White Dial | 96000
  5711/1A-014 | Nautilus Olive Green | 152000
  5711/1R-001 | Nautilus Rose Gold | 158000
  5726/1A-014 | Nautilus Annual Calendar | 121000
  5712/1A-001 | Nautilus Moon Phase | 109000
  5980/1A-001 | Nautilus Chronograph | 142000
  5980/1R-001 | Nautilus Chronograph Rose Gold | 161000
  5990/1A-001 | Nautilus Travel Time Chronograph | 131000
  5811/1G-001 | Nautilus White Gold | 152000
  5740/1G-001 | Nautilus Perpetual Calendar | 222000
  7118/1A-001 | Ladies Nautilus | 56000
  3800/1A | Nautilus 37 | 66000
Patek Philippe | Aquanaut
  5167A-001 | Aquanaut | 56000
  5167R-001 | Aquanaut Rose Gold | 61000
  5168G-001 | Aquanaut Jumbo White Gold | 71000
  5164A-001 | Aquanaut Travel Time | 76000
  5968A-001 | Aquanaut Chronograph | 111000
  5968G-010 | Aquanaut Chronograph White Gold | 131000
  5267/200A-001 | Aquanaut Luce | 46000
Patek Philippe | Calatrava
  5196G-001 | Calatrava | 22500
  5227G-010 | Calatrava Officer | 30500
  5226G-001 | Calatrava | 28500
  6119R-001 | Calatrava Clous de Paris | 27500
  6006G-001 | Calatrava Sector Dial | 32500
  5119J-001 | Calatrava Clous de Paris | 17500
  5153G-010 | Calatrava Officer | 30500
Patek Philippe | Complications
  5205G-013 | Annual Calendar | 38500
  5396R-014 | Annual Calendar | 40500
  5524G-001 | Calatrava Pilot Travel Time | 42500
  5930G-010 | World Time Flyback Chronograph | 76000
  5230G-001 | World Time | 48500
  5905P-001 | Flyback Annual Calendar Chronograph | 61000
Patek Philippe | Grand Complications
  5270G-019 | Perpetual Calendar Chronograph | 182000
  5320G-011 | Perpetual Calendar | 86000
  5327G-001 | Perpetual Calendar | 91000
  5204R-011 | Split-Seconds Perpetual Calendar Chronograph | 352000
Patek Philippe | Twenty~4
  4910/1200A-001 | Twenty~4 | 11200
  7300/1200A-001 | Twenty~4 Automatic | 38500
Audemars Piguet | Royal Oak
  15510ST | Royal Oak Selfwinding 41 | 35500
  15500ST | Royal Oak Selfwinding 41 | 32500
  15400ST | Royal Oak Selfwinding 41 | 30500
  15400OR | Royal Oak Selfwinding 41 Rose Gold | 48500
  15300ST | Royal Oak Selfwinding 39 | 22500
  15450ST | Royal Oak Selfwinding 37 | 26500
  77350ST | Royal Oak Selfwinding 34 | 28500
  15202ST | Royal Oak Jumbo Extra-Thin | 86000
  16202ST | Royal Oak Jumbo Extra-Thin 50th Anniversary | 112000
  15202BC | Royal Oak Jumbo Extra-Thin White Gold | 141000
  15210ST | Royal Oak Double Balance Wheel Openworked | 42500
  26240ST | Royal Oak Chronograph 41 | 50500
  26331ST | Royal Oak Chronograph 41 | 42500
  26715ST | Royal Oak Chronograph 38 | 45500
  26574ST | Royal Oak Perpetual Calendar | 142000
Audemars Piguet | Royal Oak Offshore
  26470ST | Royal Oak Offshore Chronograph 42 | 28500
  26405CE | Royal Oak Offshore Chronograph 44 Ceramic | 40500
  26420SO | Royal Oak Offshore Chronograph 43 | 30500
  26238ST | Royal Oak Offshore Chronograph 42 | 30500
  15710ST | Royal Oak Offshore Diver | 24500
  15720ST | Royal Oak Offshore Diver 42 | 27500
Audemars Piguet | Code 11.59
  15210BC | Code 11.59 Selfwinding | 25500
  26393OR | Code 11.59 Chronograph | 35500
  26393BC | Code 11.59 Chronograph White Gold | 36500
Omega | Speedmaster
  310.30.42.50.01.001 | Speedmaster Moonwatch Professional | 6100
  310.30.42.50.01.002 | Speedmaster Moonwatch Professional Sapphire | 7000
  311.30.42.30.01.005 | Speedmaster Moonwatch Professional | 5200
  3570.50.00 | Speedmaster Professional Moonwatch | 4600
  310.60.42.50.02.001 | Speedmaster Moonwatch Canopus Gold | 32500
  329.30.43.51.03.001 | Speedmaster '57 Co-Axial | 8100
  311.92.44.51.01.003 | Speedmaster Dark Side of the Moon | 8600
  310.32.42.50.02.001 | Speedmaster Silver Snoopy Award | 12500
Omega | Seamaster
  210.30.42.20.01.001 | Seamaster Diver 300M | 4500
  210.30.42.20.03.001 | Seamaster Diver 300M Blue | 4600
  210.32.42.20.01.001 | Seamaster Diver 300M Rubber | 4300
  215.30.44.21.01.001 | Seamaster Planet Ocean 600M | 5800
  220.10.41.21.01.001 | Seamaster Aqua Terra 150M | 5000
  220.10.41.21.03.001 | Seamaster Aqua Terra 150M Blue | 5100
  234.30.41.21.01.001 | Seamaster 300 Heritage | 6500
  2254.50.00 | Seamaster Professional 300M | 2600
  2531.80.00 | Seamaster Professional 300M James Bond | 2800
Omega | Constellation
  131.10.39.20.01.001 | Constellation Co-Axial Master Chronometer | 4800
  123.10.38.21.02.001 | Constellation Co-Axial | 2900
Omega | Globemaster
  130.30.39.21.03.001 | Globemaster Co-Axial Master Chronometer | 5000
Tudor | Black Bay
  M79030N | Black Bay Fifty-Eight | 3500
  M79030B | Black Bay Fifty-Eight Navy Blue | 3600
  M79010SG | Black Bay Fifty-Eight 925 | 3800
  M79012M | Black Bay Fifty-Eight 18K | 14200
  M79000N | Black Bay 54 | 3700
  M79230N | Black Bay | 3250
  M79230R | Black Bay Burgundy | 3300
  M79230B | Black Bay Blue | 3300
  M79360N | Black Bay Chrono | 4800
  M79830RB | Black Bay GMT | 3600
  M79540 | Black Bay 41 | 2700
  M79470 | Black Bay Pro | 3500
Tudor | Pelagos
  M25600TN | Pelagos | 3900
  M25600TB | Pelagos Blue | 3950
  M25610TNL | Pelagos LHD | 4200
  M25407N | Pelagos 39 | 4250
  M25707B | Pelagos FXD | 3600
Tudor | Ranger
  M79950 | Ranger | 2500
Tudor | Royal
  M28600 | Royal 41 | 2200
Cartier | Santos
  WSSA0018 | Santos de Cartier Large | 7000
  WSSA0029 | Santos de Cartier Medium | 6500
  WSSA0030 | Santos de Cartier Large Blue | 7400
  WSSA0062 | Santos de Cartier Large Green | 7600
  W2SA0006 | Santos de Cartier Large Two-Tone | 9600
  WSSA0022 | Santos-Dumont Large | 4200
Cartier | Tank
  WSTA0041 | Tank Must Large | 2800
  WSTA0042 | Tank Must Small | 2600
  WGTA0011 | Tank Louis Cartier Large | 11200
  WSTA0053 | Tank Française Medium | 4500
  WGTA0043 | Tank Américaine Large | 17200
  W5200028 | Tank Solo Large | 2500
Cartier | Ballon Bleu
  WSBB0025 | Ballon Bleu 42 | 6000
  W69012Z4 | Ballon Bleu 42 | 5500
  WSBB0046 | Ballon Bleu 40 | 5800
Cartier | Panthère
  WSPN0007 | Panthère de Cartier Medium | 4500
  WSPN0006 | Panthère de Cartier Small | 4300
Jaeger-LeCoultre | Reverso
  Q3858520 | Reverso Classic Large Duoface Small Seconds | 9100
  Q3978480 | Reverso Tribute Duoface Calendar | 12500
  Q2618540 | Reverso Classic Medium Thin | 6500
  Q3838420 | Reverso Tribute Duoface | 10500
  Q7138420 | Reverso Tribute Monoface Small Seconds | 8200
Jaeger-LeCoultre | Master Control
  Q1368420 | Master Ultra Thin Moon | 7600
  Q4138420 | Master Control Date | 6100
  Q1548420 | Master Control Chronograph Calendar | 9600
Jaeger-LeCoultre | Polaris
  Q9008180 | Polaris Date | 7600
  Q9028180 | Polaris Chronograph | 9600
  Q9068180 | Polaris Date Blue | 7800
A. Lange & Söhne | Lange 1
  191.032 | Lange 1 Rose Gold | 38500
  191.039 | Lange 1 White Gold | 36500
  101.021 | Lange 1 Yellow Gold | 30500
  181.032 | Little Lange 1 | 26500
A. Lange & Söhne | Saxonia
  219.026 | Saxonia Thin Rose Gold | 18200
  216.027 | Saxonia Thin White Gold | 17200
  380.032 | Saxonia Outsize Date | 22500
A. Lange & Söhne | Zeitwerk
  140.029 | Zeitwerk Rose Gold | 65500
  140.032 | Zeitwerk Rose Gold Black Dial | 68000
A. Lange & Söhne | Datograph
  405.035 | Datograph Up/Down Platinum | 111000
  403.035 | Datograph Flyback Platinum | 96000
  405.031 | Datograph Up/Down Rose Gold | 96000
A. Lange & Söhne | 1815
  235.032 | 1815 Rose Gold | 22500
  238.026 | 1815 Annual Calendar | 33000
A. Lange & Söhne | Odysseus
  363.179 | Odysseus Steel Blue Dial | 55500
  363.068 | Odysseus Steel Grey Dial | 52500
Vacheron Constantin | Overseas
  4500V/110A-B128 | Overseas Self-Winding Blue Dial | 30500
  4500V/110A-B483 | Overseas Self-Winding Silver Dial | 28500
  5500V/110A-B148 | Overseas Chronograph Blue Dial | 40500
  7900V/110A-B334 | Overseas Dual Time | 33500
  4300V/120G-B064 | Overseas Perpetual Calendar Ultra-Thin | 98000
Vacheron Constantin | Patrimony
  81180/000G-9117 | Patrimony Automatic | 25500
  85180/000R-9248 | Patrimony Self-Winding | 22500
Vacheron Constantin | Traditionnelle
  82172/000R-9382 | Traditionnelle Self-Winding | 26500
  87172/000G-9301 | Traditionnelle Self-Winding White Gold | 27500
Vacheron Constantin | Historiques
  4200H/222A-B934 | Historiques 222 Steel | 76000
  5000H/000A-B582 | Historiques American 1921 | 36500
IWC | Portugieser
  IW371605 | Portugieser Chronograph | 7000
  IW371617 | Portugieser Chronograph Blue | 7300
  IW371615 | Portugieser Chronograph Silver | 7100
  IW500710 | Portugieser Automatic 42 | 10500
  IW500705 | Portugieser Automatic 42 | 9600
  IW358304 | Portugieser Automatic 40 | 7600
  IW503401 | Portugieser Perpetual Calendar | 28500
IWC | Pilot's Watch
  IW327001 | Pilot's Watch Mark XVIII | 3800
  IW328201 | Pilot's Watch Mark XX | 4700
  IW501001 | Big Pilot's Watch | 9600
  IW329301 | Big Pilot's Watch 43 | 7100
  IW377709 | Pilot's Watch Chronograph | 4700
  IW388101 | Pilot's Watch Chronograph 41 | 6200
IWC | Portofino
  IW356501 | Portofino Automatic | 3300
  IW356502 | Portofino Automatic Silver | 3300
IWC | Ingenieur
  IW328901 | Ingenieur Automatic 40 | 11500
  IW328903 | Ingenieur Automatic 40 Blue | 12000
Breitling | Navitimer
  AB0138211B1P1 | Navitimer B01 Chronograph 43 | 7500
  AB0121211B1A1 | Navitimer 01 46 | 6000
  A17326211B1P1 | Navitimer Automatic 41 | 4100
  AB0910371L1P1 | Navitimer B01 Chronograph 43 Blue | 7600
Breitling | Superocean
  A17367D71C1S1 | Superocean Automatic 44 | 3700
  A17375211B1S1 | Superocean Automatic 42 | 3500
  A10340361C1S1 | Superocean Heritage | 3400
Breitling | Chronomat
  AB0134101B1A1 | Chronomat B01 42 | 6600
  AB0134101L1A1 | Chronomat B01 42 Blue | 6700
Breitling | Avenger
  A17318101B1X1 | Avenger Automatic 45 | 2600
  A13385101B1X1 | Avenger Chronograph 43 | 3800
Breitling | Premier
  AB0118221G1P1 | Premier B01 Chronograph 42 | 6100
TAG Heuer | Carrera
  CBN2A1B.BA0643 | Carrera Chronograph 44 | 4400
  CBN2011.BA0642 | Carrera Heuer 01 | 4000
  CBS2210.FC6534 | Carrera Chronograph 39 | 4600
  WAR211A.BA0782 | Carrera Calibre 5 | 2000
  CBK2110.BA0715 | Carrera Heuer 02 | 4900
TAG Heuer | Monaco
  CAW211P.FC6356 | Monaco Calibre 11 | 5000
  CBL2111.FC6453 | Monaco Heuer 02 | 5500
  CAW2111.FC6183 | Monaco Calibre 11 Blue | 4900
TAG Heuer | Aquaracer
  WBP201A.BA0632 | Aquaracer Professional 300 | 2600
  WBP201B.BA0632 | Aquaracer Professional 300 Blue | 2600
  WAY201A.BA0927 | Aquaracer 300M | 1700
TAG Heuer | Formula 1
  CAZ101K.BA0842 | Formula 1 Chronograph | 1300
  WAZ1110.BA0875 | Formula 1 | 900
Panerai | Luminor
  PAM01312 | Luminor Marina 44 | 6500
  PAM00111 | Luminor Marina 44 | 4500
  PAM01359 | Luminor Marina | 6600
  PAM00112 | Luminor Base | 4200
  PAM01535 | Luminor GMT | 6300
Panerai | Radiomir
  PAM00210 | Radiomir 45 | 4500
  PAM00424 | Radiomir California 3 Days | 6000
  PAM01385 | Radiomir 1940 3 Days | 6100
Panerai | Submersible
  PAM00682 | Luminor Submersible 1950 | 7500
  PAM01389 | Submersible | 8000
  PAM00305 | Luminor Submersible | 6000
  PAM00973 | Submersible 42 | 7000
Panerai | Luminor Due
  PAM00674 | Luminor Due 3 Days | 5200
Grand Seiko | Heritage
  SBGA211 | Heritage Snowflake | 5200
  SBGA413 | Heritage Shunbun | 5800
  SBGW231 | Heritage Manual Winding | 3800
  SBGH201 | Heritage Hi-Beat | 4800
  SBGR251 | Heritage Automatic | 3200
  SBGJ201 | Heritage Hi-Beat GMT | 5100
Grand Seiko | Evolution 9
  SLGH005 | Evolution 9 White Birch | 8000
  SLGH002 | Evolution 9 Hi-Beat 80 Hours | 8100
  SLGA009 | Evolution 9 Spring Drive | 8600
Grand Seiko | Elegance
  SBGK007 | Elegance Manual Winding | 4800
  SBGY007 | Elegance Omiwatari | 6000
  SBGW235 | Elegance Manual Winding | 4300
Grand Seiko | Sport
  SBGE201 | Sport Spring Drive GMT | 5000
  SBGA229 | Sport Spring Drive | 4800
  SBGC231 | Sport Spring Drive Chronograph GMT | 9000
Hublot | Big Bang
  301.SX.1170.RX | Big Bang Evolution 44 | 9000
  411.NX.1170.RX | Big Bang Unico 45 | 13100
  441.NX.1171.RX | Big Bang Unico 42 | 12600
  301.PX.1180.RX | Big Bang Evolution 44 King Gold | 17100
Hublot | Classic Fusion
  511.NX.1171.RX | Classic Fusion 45 | 5000
  542.NX.1171.RX | Classic Fusion 42 | 4800
  511.OX.1181.LR | Classic Fusion 45 King Gold | 10100
  521.NX.1171.RX | Classic Fusion Chronograph | 7000
Hublot | Spirit of Big Bang
  601.NX.0173.LR | Spirit of Big Bang Titanium | 13100
  641.NX.0173.LR | Spirit of Big Bang 39 | 12600
Richard Mille | RM 011
  RM011-03 | RM 011-03 Automatic Flyback Chronograph | 182000
  RM011 | RM 011 Felipe Massa | 171000
Richard Mille | RM 035
  RM035-02 | RM 035-02 Rafael Nadal | 212000
  RM035-03 | RM 035-03 Rafael Nadal | 262000
Richard Mille | RM 055
  RM055 | RM 055 Bubba Watson | 262000
Richard Mille | RM 67
  RM67-01 | RM 67-01 Extra Flat | 222000
  RM67-02 | RM 67-02 Sprint | 312000
Richard Mille | RM 030
  RM030 | RM 030 Declutchable Rotor | 192000
Richard Mille | RM 010
  RM010 | RM 010 Automatic | 142000
Richard Mille | RM 07
  RM07-01 | RM 07-01 Ladies | 202000
Richard Mille | RM 72
  RM72-01 | RM 72-01 Lifestyle Flyback Chronograph | 302000
Richard Mille | RM 016
  RM016 | RM 016 Extra Flat | 132000
Zenith | Chronomaster
  03.3100.3600/69.M3100 | Chronomaster Sport | 11200
  03.3100.3600/21.M3100 | Chronomaster Sport Black Dial | 11000
  03.3200.3600/69.C902 | Chronomaster Original | 8100
Zenith | Defy
  03.9300.3620/51.I001 | Defy Skyline | 8100
  95.9000.9004/78.R584 | Defy 21 | 11200
  97.9100.9004/01.I001 | Defy Extreme | 15500
Zenith | Pilot
  03.4000.3620/21.I001 | Pilot Automatic | 7100
Zenith | Elite
  03.3100.670/01.C922 | Elite Classic | 5200
Longines | HydroConquest
  L3.781.4.56.6 | HydroConquest 41 | 1500
  L3.782.4.56.6 | HydroConquest 43 | 1550
Longines | Spirit
  L3.811.4.53.6 | Spirit 40 | 2000
  L3.812.4.63.6 | Spirit Zulu Time 39 | 2900
Longines | Master Collection
  L2.909.4.51.7 | Master Collection Chronograph | 1900
  L2.673.4.78.3 | Master Collection Moonphase | 2700
Longines | Legend Diver
  L3.774.4.30.2 | Legend Diver | 2300
Longines | Conquest
  L3.830.4.02.6 | Conquest 41 | 2100
Blancpain | Fifty Fathoms
  5015-1130-52A | Fifty Fathoms Automatique | 13200
  5000-0130-B52A | Fifty Fathoms Bathyscaphe | 8600
  5200-0130-B52A | Fifty Fathoms Bathyscaphe Chronograph Flyback | 12200
Blancpain | Villeret
  6654-1127-55B | Villeret Quantieme Complet | 13100
  6651-1143-55B | Villeret Date | 10200
Blancpain | Air Command
  AC01-1130-63A | Air Command Flyback Chronograph | 15200
Breguet | Classique
  5177BA/29/9V6 | Classique 5177 Yellow Gold | 17200
  5177BB/12/9V6 | Classique 5177 White Gold | 16200
Breguet | Marine
  5517TI/Y1/TZ0 | Marine 5517 Titanium | 19200
  5517BR/Y2/5ZU | Marine 5517 Rose Gold | 24500
Breguet | Type XX
  2057ST/92/3WU | Type XX Chronographe 2057 | 16200
  3810ST/92/SZ9 | Type XXI Flyback | 12200
Breguet | Tradition
  7057BR/R9/9W6 | Tradition 7057 | 25500
  7097BB/G1/9WU | Tradition 7097 | 25200
"""


def _parse_table(text: str) -> tuple[Reference, ...]:
    refs: list[Reference] = []
    brand = parent = ""
    for raw in text.splitlines():
        if not raw.strip():
            continue
        fields = [f.strip() for f in raw.split("|")]
        if not raw.startswith(" "):
            brand, parent = fields
            if brand not in BRANDS:  # a group header may use an alias (kept short in the table)
                brand = _canonical_of(brand)
            continue
        number, specific, price = fields
        refs.append(Reference(brand, parent, specific, number, float(price)))
    return tuple(refs)


def _canonical_of(alias: str) -> str:
    for canonical, aliases in BRANDS.items():
        if alias in aliases:
            return canonical
    raise ValueError(f"catalog: unknown brand {alias!r}")


#: Every reference of the catalog, grouped by brand and parent model.
REFERENCES: tuple[Reference, ...] = _parse_table(_TABLE)


@cache
def brand_alias_map() -> dict[str, str]:
    """``brand_key(alias)`` -> canonical brand, for every alias and every canonical name."""
    from ingest.steps.parsing import brand_key

    out: dict[str, str] = {}
    for canonical, aliases in BRANDS.items():
        for alias in (canonical, *aliases):
            key = brand_key(alias)
            if out.get(key, canonical) != canonical:
                raise ValueError(f"catalog: alias {alias!r} is ambiguous ({out[key]} and {canonical})")
            out[key] = canonical
    return out


@cache
def reference_index() -> dict[tuple[str, str], Reference]:
    """(canonical brand, ``canonical_reference(reference_number)``) -> the catalog entry."""
    from ingest.steps.parsing import canonical_reference

    out: dict[tuple[str, str], Reference] = {}
    for ref in REFERENCES:
        key = (ref.brand, canonical_reference(ref.reference_number) or "")
        if key in out:
            raise ValueError(f"catalog: duplicate reference {key}")
        out[key] = ref
    return out


def parent_models() -> dict[str, tuple[str, ...]]:
    """Canonical brand -> its parent models, in catalog order."""
    out: dict[str, list[str]] = {}
    for ref in REFERENCES:
        models = out.setdefault(ref.brand, [])
        if ref.parent_model not in models:
            models.append(ref.parent_model)
    return {brand: tuple(models) for brand, models in out.items()}
